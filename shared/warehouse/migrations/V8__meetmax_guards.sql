-- Guards on the MeetMax configuration of V6 and V7.

-- A role rule's custom-field purposes never hold NULL (it would make the list unreadable).
ALTER TABLE integration.meetmax_role_rule
    ADD CONSTRAINT meetmax_role_rule_custom_fields_no_null CHECK (array_position(custom_fields, NULL) IS NULL);

-- The status history is kept whoever updates meetmax_status (operators and the original scripts
-- may connect as other roles than the platform's): the trigger runs with its owner's rights.
ALTER FUNCTION integration.keep_meetmax_status() SECURITY DEFINER SET search_path = pg_catalog, integration;
